//! The battlegrid server: everything with threads, sockets, files and time.
