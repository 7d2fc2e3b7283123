DROP INDEX users_sign_in_sort;
DROP INDEX users_email_sort;
