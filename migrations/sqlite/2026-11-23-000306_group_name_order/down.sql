DROP INDEX groups_name;
