"""The worker's gRPC contract (generated stubs in s2st.v1) and runtime helpers both services share."""
