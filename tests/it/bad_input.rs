//! Bad input on every POST route (written by a helper).
