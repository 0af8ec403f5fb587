"""The counter, as Streamlit's docs write it: session state and a button callback."""

import streamlit as st

if "count" not in st.session_state:
    st.session_state.count = 0


def increment() -> None:
    st.session_state.count += 1


st.button("Click me", on_click=increment, key="button")
with st.container(key="counter"):
    st.write(f"Count: {st.session_state.count}")
