from ecrm.cli import main

main()
