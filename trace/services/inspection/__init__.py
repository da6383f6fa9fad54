"""What inspectors do: recalls, audit reports, KDE exports, consumer signals, signed ledger
checkpoints."""
