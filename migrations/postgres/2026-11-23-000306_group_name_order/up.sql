-- Group names in the order the Users list sorts them (unique: already unique in any case).
CREATE UNIQUE INDEX groups_name ON groups (name);
