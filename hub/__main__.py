"""``python -m hub`` runs the ``hub`` console command."""

from hub.cli import main

main()
