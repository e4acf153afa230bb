"""The `banditlb` command: one module per subcommand that parses, calls library code and formats."""
