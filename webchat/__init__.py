"""webchat"""
