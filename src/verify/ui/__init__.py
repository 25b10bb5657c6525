"""The Streamlit workbench. Only this package (and app.py) imports streamlit."""
