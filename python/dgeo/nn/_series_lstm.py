"""An LSTM with several outputs per day: the network of dynamic (daily) parameters."""

from __future__ import annotations

from jaxtyping import PRNGKeyArray

from ._lstm import LSTM


class SeriesLSTM(LSTM):
    """`dgeo.nn.LSTM` with `out_features` outputs per day: (time, in) -> (time, out).

    The same cell, weights and `static` option (torch's gate order, forget-gate bias 3,
    dropout on the hidden states before the linear layer); the parameter-learning models use
    it for parameters that vary by day (one output per parameter and component).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        hidden: int = 64,
        dropout: float = 0.0,
        key: PRNGKeyArray,
    ):
        super().__init__(in_features, hidden=hidden, dropout=dropout, outputs=out_features, key=key)
