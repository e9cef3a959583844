-- A phone number (E.164) for one-time codes by SMS; set only once confirmed by a code.
ALTER TABLE users ADD COLUMN phone TEXT;
CREATE UNIQUE INDEX users_phone ON users(phone);
