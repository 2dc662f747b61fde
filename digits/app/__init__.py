"""The application: the command line, its commands, the server and its page."""
