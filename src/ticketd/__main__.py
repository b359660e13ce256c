from ticketd.cli.main import main

main()
