"""The API faces: the native API and the vendor APIs it reproduces.

Each face translates its wire format to core calls and back.
"""
