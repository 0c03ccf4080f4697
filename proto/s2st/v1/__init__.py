"""s2st.v1: the first version of the Translator service (generated stubs, and the sizes it promises in limits)."""
