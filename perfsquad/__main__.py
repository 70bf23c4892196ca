from perfsquad.cli import main

raise SystemExit(main())
