"""The one booking path: holds, bookings and notifications, used by every page, task and API.

Plain functions that own the transitions; views and tasks call these and never write the rows
themselves. Errors people may see are in `errors`, each with a `.message` for the person.
"""
