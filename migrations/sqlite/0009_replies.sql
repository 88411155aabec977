-- Replies (issue 22): the seq, in the same room, of the message a message
-- answers. Its quote is read from that message as it is now.
ALTER TABLE messages ADD COLUMN reply_to INTEGER;
