from perfsquad.server import run_server

raise SystemExit(run_server())
