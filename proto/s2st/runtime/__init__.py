"""What the gateway and the worker both run on besides the contract (s2st.v1): logging, tracing, settings.

It ships in both images with the contract; nothing here imports either service.
"""
