"""The national traceability portal (truyxuatnguongoc.gov.vn): records, sync, transport."""
