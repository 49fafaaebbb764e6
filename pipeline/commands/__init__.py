"""One module per ``massfield`` command (cli.py loads a command's module only when it runs),
so that a DVC stage depends on the code its command runs and no other command's."""
