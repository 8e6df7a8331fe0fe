"""The public channels, named in credentials.yml: REST (rest.py), the website widget
(widget.py, widget_static/) and the WeChat official account (wechat/)."""
