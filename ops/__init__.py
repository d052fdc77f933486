"""Operations: the `mediation` CLI, `mediation up`, the dev server and the rehearsal."""
