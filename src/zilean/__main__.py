from zilean.cli import main

raise SystemExit(main())
