DROP TABLE known_devices;
DROP TABLE sessions;
