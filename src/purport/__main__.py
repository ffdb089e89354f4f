from purport.cli import main

main()
