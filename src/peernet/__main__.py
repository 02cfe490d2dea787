from peernet.cli import main

raise SystemExit(main())
