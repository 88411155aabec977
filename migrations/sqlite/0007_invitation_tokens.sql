-- An invitation is completed only through its own link: a single-use token
-- only the invitee received (whoever signs up first with the invited email
-- proves nothing). Rows from before get a token now; new ones get theirs
-- from the server's CSPRNG.
ALTER TABLE invitations ADD COLUMN token TEXT;
UPDATE invitations SET token = lower(hex(randomblob(32))) WHERE token IS NULL;
CREATE UNIQUE INDEX invitations_token ON invitations (token);
