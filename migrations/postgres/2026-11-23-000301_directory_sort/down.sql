DROP INDEX users_sign_in_sort;
DROP INDEX users_email_sort;
DROP INDEX users_search_trgm;
