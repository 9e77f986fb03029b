"""Volatility forecasting on daily market data.

Submodules (imported explicitly, nothing heavy is loaded here):
``tinygrad_trade.vol.data`` loads and validates CSV files and the embedded S&P 500 data;
``tinygrad_trade.vol.features`` builds variance proxies and leak-free forecasting features.
"""
