"""The Discord adapter: discord.py client, guild sessions, commands, views."""
