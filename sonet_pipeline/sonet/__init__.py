"""The Sonet ERP's two APIs as clients: Query (GraphQL reads) and Message (SalesOrder XML), with the
entities they read, the one throttle and the one retry policy every client keeps to."""
