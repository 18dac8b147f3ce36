from .network import main

if __name__ == "__main__":  # a spawned measuring child imports this module too
    main()
