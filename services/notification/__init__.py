"""Notification (thông báo): portal inbox, email and SMS to citizens, from events."""
