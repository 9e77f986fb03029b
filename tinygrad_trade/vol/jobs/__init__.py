"""The jobs behind the commands: ``forecast``, ``predict``, ``demo``, and the output folders they write
(``outdir``). The top of the volatility product: everything below is used, nothing below imports it.
"""
