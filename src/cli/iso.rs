//! `switchyard iso ...` and `switchyard bench codec`.
