from civicport.cli import main

main()
