from vmconsole.cli import main

raise SystemExit(main())
