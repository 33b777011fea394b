"""Converters from other toolkits' model files into vgpred model folders (``vgpred convert ...``)."""
