"""The providers' real API endpoints: the default ``base_url`` of each channel. Kept apart from
the adapters so the configuration model (:mod:`consumers.notify.channels.config`), which every
process validates, needs none of them."""

WECOM_BASE_URL = "https://qyapi.weixin.qq.com"
WECOM_APP_BASE_URL = "https://qyapi.weixin.qq.com"
WECHAT_BASE_URL = "https://api.weixin.qq.com"
ALIYUN_SMS_BASE_URL = "https://dysmsapi.aliyuncs.com"
TENCENT_SMS_BASE_URL = "https://sms.tencentcloudapi.com"
DINGTALK_BASE_URL = "https://oapi.dingtalk.com"
FEISHU_BASE_URL = "https://open.feishu.cn"
