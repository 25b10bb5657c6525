"""The roles page (run by st.navigation; the logic lives in verify.ui.views.roles)."""

from verify.ui.views.roles import render

if __name__ == "__main__":
    render()
