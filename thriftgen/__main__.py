# Same entry as the console script: an up-to-date run is answered from the
# generation cache before the CLI (typer, the parser) is imported.
from thriftgen.gencache import main

if __name__ == "__main__":
    main()
