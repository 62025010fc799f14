# Same entry as the console script: the version and up-to-date runs are answered
# before the CLI (typer, the parser) is imported.
from thriftgen.entry import main

if __name__ == "__main__":
    main()
