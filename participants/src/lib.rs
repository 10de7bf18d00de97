//! jCard-style participants for Switchyard.
