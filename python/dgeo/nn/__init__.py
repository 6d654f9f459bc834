"""Neural blocks (equinox): input standardisation, the causal Conv1D head, an MLP and an LSTM.

Every block maps one basin's series, shaped (time, features), to (time, outputs); batches of
windows and stacks of per-basin blocks are handled with `vmap` by the caller.
"""

from ._blocks import MLP, CausalConv1d, ConvHead, Standardiser
from ._lstm import LSTM, lstm_hidden
from ._series_lstm import SeriesLSTM

__all__ = [
    "LSTM",
    "MLP",
    "CausalConv1d",
    "ConvHead",
    "SeriesLSTM",
    "Standardiser",
    "lstm_hidden",
]
