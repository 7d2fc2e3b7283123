DROP INDEX users_status_sign_in;
