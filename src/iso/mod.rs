//! ISO-8583 messages and packagers.
