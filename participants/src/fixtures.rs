//! Fixtures: placeholder replaced below.
