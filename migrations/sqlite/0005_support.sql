-- The support desk: staff actions find a department's conversations by
-- department (role changes, transfers, renames).
CREATE INDEX rooms_support_department ON rooms (department_id) WHERE kind = 'support';
